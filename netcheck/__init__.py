"""netcheck: will each network connection of an Acronis Backup Advanced deployment work?"""

__version__ = "0.1.0"
