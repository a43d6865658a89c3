"""Entry point of the frozen bundle: the same command line as the `bcmlp` console script."""

import multiprocessing

from app.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the signature worker processes start from this binary
    main()
