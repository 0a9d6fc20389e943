"""ipsim: an emulator of TippingPoint-style IPS devices for Garrison's tests, demos and benchmarks.

It is a separate program (``python -m ipsim``) that plays one or hundreds of devices; it never
imports ``garrison``, so it can only talk to Garrison over the wire, as a real device would.
"""

__version__ = "0.1.0"
