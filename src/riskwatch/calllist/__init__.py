"""The call list: clients ranked by risk, with reasons, published for the managers."""
