"""The command-line layer: parse options, call one service, render the result."""
