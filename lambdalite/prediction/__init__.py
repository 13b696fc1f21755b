"""``lambdalite predict``: send files to a model's function in the local Lambda and print the
answers (``api.predict``); a model folder is built once per change and reused (``cache``)."""
