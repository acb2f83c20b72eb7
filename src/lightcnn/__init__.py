"""lightcnn: LeNet-5 and AlexNet on MNIST and CIFAR-10 with PyTorch Lightning and Hydra."""

__version__ = "0.1.0"
