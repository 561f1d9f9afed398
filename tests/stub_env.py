"""A tiny, fast environment for unit tests, with switches for misbehaviour."""

import gymnasium as gym
import numpy as np


class StubEnv(gym.Env):
    """Move a point towards 0: reward ``1 - |x|`` per step, ``length`` steps an episode.

    ``fault`` makes the env misbehave at step ``fault_step``: ``"nan_obs"``, ``"nan_reward"``,
    ``"raise"``, ``"wrong_shape"``.
    """

    metadata = {"render_modes": []}

    def __init__(self, length=20, discrete=False, fault=None, fault_step=3, action_space=None):
        self.length = length
        self.fault = fault
        self.fault_step = fault_step
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float64)
        if action_space is not None:
            self.action_space = action_space
        elif discrete:
            self.action_space = gym.spaces.Discrete(3)
        else:
            self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.discrete = discrete

    def _obs(self):
        return np.array([self.x, self.x ** 2, 1.0])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-1, 1))
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        if self.discrete:
            move = 0.1 * (int(action) - 1)
        else:
            move = 0.1 * float(np.asarray(action).reshape(-1)[0])
        self.x = float(np.clip(self.x + move, -2, 2))
        obs, reward = self._obs(), 1.0 - abs(self.x)
        if self.fault and self.t == self.fault_step:
            if self.fault == "nan_obs":
                obs[0] = np.nan
            elif self.fault == "nan_reward":
                reward = float("nan")
            elif self.fault == "raise":
                raise RuntimeError("simulator exploded")
            elif self.fault == "wrong_shape":
                obs = np.zeros(5)
        return obs, reward, False, self.t >= self.length, {}


def make_stub(**kwargs):
    """A picklable factory with a time limit: ``functools.partial(make_stub, ...)``."""
    env = StubEnv(**kwargs)
    return gym.wrappers.TimeLimit(env, max_episode_steps=env.length)
