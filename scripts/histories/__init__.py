"""The paths scripts/save_histories.py drives, by name, in the order they are run and listed.

A path plays one story the tests play (the incidents it runs, every party acting in turn); its
workflows' histories are saved for tests/test_replay.py. To add one, write it in the module of
its kind with @path("name") and run `scripts/save_histories.py --only name`.
"""

from histories import escalations, intake, loops
from histories.steps import Story

PATHS: dict[str, Story] = {**loops.PATHS, **escalations.PATHS, **intake.PATHS}
