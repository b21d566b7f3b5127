"""Environment composition: typed stack configuration and the platform builder."""
