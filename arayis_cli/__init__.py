"""arayis — back-office tool for Azərsu certificates of no debt (borcun olmaması haqqında)."""

__version__ = "0.1.0"
