"""A Report rendered for each medium from one neutral walk (`document.walk`), escaping by that medium's rules."""
