"""Demo data: synthetic vehicle scenes that ``platekeeper demo`` ingests."""
