"""The soak's own functions (its CodeUri): a healthy neighbour and one fault per handler."""
