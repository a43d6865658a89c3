"""Entry point of the frozen bundle: the same command line as the `bcmlp` console script."""

from app.cli import main

if __name__ == "__main__":
    main()
