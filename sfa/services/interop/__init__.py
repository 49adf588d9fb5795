"""Interop: CSV, vCard and iCalendar in and out, and the full backup (export all / import all)."""
