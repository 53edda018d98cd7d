"""What the spec binds: one module per resource with its operations' functions, and the security function.

The spec has validated the input already; each function looks up, calls the domain once, and answers.
"""
