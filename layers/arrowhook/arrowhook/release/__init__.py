"""Releases: what a new version must answer before CodeDeploy shifts traffic to it."""
