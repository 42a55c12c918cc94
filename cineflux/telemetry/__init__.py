"""Quality of experience: what players report after the play, and its percentiles."""
