"""satrlearn: binary recurrent spiking network policies trained without backpropagation."""

__version__ = "0.1.0"
