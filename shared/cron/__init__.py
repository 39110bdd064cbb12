"""The parts of `shared.scheduling`: expression parsing, fire-time search, descriptions. Import from there."""
