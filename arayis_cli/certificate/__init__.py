"""The certificate (arayış): PDF rendering."""
