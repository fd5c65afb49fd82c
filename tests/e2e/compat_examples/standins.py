"""numpy stand-ins for the torch and torchvision calls of the Runicorn examples: the same
names and calls, no deep learning."""

import types

import numpy as np

_random = np.random.default_rng(0)


class _Loss(float):
    def backward(self):
        pass

    def item(self):
        return float(self)


class _Model:
    def __init__(self, *layers):
        self.weights = _random.normal(size=10)

    def parameters(self):
        return [self.weights]

    def train(self):
        pass

    def __call__(self, data):
        return data.mean() + self.weights

    def state_dict(self):
        return {"weights": self.weights}


class _Optimizer:
    def __init__(self, parameters, lr):
        self.param_groups = [{"lr": lr}]

    def zero_grad(self):
        pass

    def step(self):
        pass


def _layer(*args, **kwargs):
    return None


def _loader(dataset, batch_size, shuffle):
    return [(_random.random((batch_size, 1, 28, 28)), _random.integers(0, 10, batch_size))
            for _ in range(201)]


def _save(state, path):
    with open(path, "wb") as handle:
        np.save(handle, state["weights"])


nn = types.SimpleNamespace(Sequential=_Model, Conv2d=_layer, ReLU=_layer, MaxPool2d=_layer,
                           Flatten=_layer, Linear=_layer,
                           CrossEntropyLoss=lambda: lambda out, target: _Loss(abs(out).mean()))
optim = types.SimpleNamespace(Adam=_Optimizer)
torch = types.SimpleNamespace(save=_save, utils=types.SimpleNamespace(
    data=types.SimpleNamespace(DataLoader=_loader)))
datasets = types.SimpleNamespace(MNIST=lambda *args, **kwargs: None)
transforms = types.SimpleNamespace(ToTensor=lambda: None)
model = _Model()
image_array = _random.integers(0, 255, (32, 32, 3), dtype=np.uint8)


def train_step():
    return float(_random.random())


def train_one_epoch(model):
    return float(_random.random()), float(_random.random())
