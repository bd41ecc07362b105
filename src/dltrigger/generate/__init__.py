"""Event generation: Pythia 8 processes, a fast Delphes-like detector simulation, ROOT output."""
