"""Ledger import/export (Excel, CSV), dispatch reports, rankings and meeting agendas."""
