"""The command line's command groups, one module per area; ``cli.py`` registers them. Thin: each command
parses, calls ``service`` (or ``reports``), and prints."""
