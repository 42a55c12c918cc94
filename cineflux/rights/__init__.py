"""Rights: licence windows, holdbacks, the chronologie des médias, avails and territories."""
