"""`make docs`: the generator that writes every number and snippet into docs/, and checks them."""
