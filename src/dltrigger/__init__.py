"""dltrigger: an end-to-end event-topology classification pipeline for the LHC."""

__version__ = "0.1.0"
