"""Data subjects' rights (PIPL arts. 44–47): the register of requests, a customer's data as a
ZIP, erasure, legal holds, consent withdrawal, and retention of recordings and audit events."""
