"""Media pipeline: probe, encode and package sources into CMAF HLS + DASH."""
