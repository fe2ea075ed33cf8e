"""The comparators: synthcity's generators and hyperimpute, in an environment of their own.

synthcity pins torch < 2.3 and numpy < 2, which the main environment (mbi and JAX need numpy >= 2)
cannot hold. So they live in a separate virtual environment, built once from the pinned
``requirements.txt`` beside this file (``trialsynth env create comparators``, into
``$TRIALSYNTH_HOME/envs/comparators``), and the engine talks to it through files and a
subprocess (``client``): Parquet in, Parquet and JSON out, a time limit and a memory limit.
``worker.py`` is the program that runs inside that environment; it imports nothing of trialsynth.
"""
