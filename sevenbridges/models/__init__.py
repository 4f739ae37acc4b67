"""Resource models: one module per platform resource; ``compound`` holds nested objects."""
