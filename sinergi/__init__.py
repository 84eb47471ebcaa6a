"""Sinergi: employment social-security coverage warehouse (Inpres 2/2021)."""
