"""The Textual dashboard (`sfa dashboard`). It calls only sfa.services: no SQL, no HTTP here."""
