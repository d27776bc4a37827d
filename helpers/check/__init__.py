"""Exercise checks: each takes the student's function, runs it against the course's reference on random
inputs, prints ✓ or what differs (shape, scale, symmetry...), and returns True or False."""

from helpers.check.comparison import *  # noqa: F401,F403
from helpers.check.control import *  # noqa: F401,F403
from helpers.check.feedforward import *  # noqa: F401,F403
from helpers.check.optimizer import *  # noqa: F401,F403
from helpers.check.scale import *  # noqa: F401,F403
from helpers.check.start import *  # noqa: F401,F403
from helpers.check.style_statistics import *  # noqa: F401,F403
from helpers.check.stylization import *  # noqa: F401,F403
from helpers.check.temporal import *  # noqa: F401,F403
from helpers.check.theory import *  # noqa: F401,F403
