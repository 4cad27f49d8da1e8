"""Where things are and how the process is set up: paths, settings from the environment, the
run file of `linkage up`, logs. Imports nothing else of the project.
"""
