"""`python -m sinergi`: the command line where the project is on PYTHONPATH but not installed (the image)."""
from sinergi.cli import main

main()
