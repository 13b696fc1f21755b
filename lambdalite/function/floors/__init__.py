"""Floor handlers: what a cold start of this package costs before the function does anything.

``lambdalite bench`` runs them from the same package as the variants (same runtime, same
dependencies, same slimming), only with another Handler, so every cold start is shown next
to the floor it cannot beat. Deployed with the same Handler on AWS they measure Lambda's own
floor for the package:

    lambdalite.function.floors.noop.handler      the runtime and the package, nothing imported
    lambdalite.function.floors.imports.handler   + numpy, PIL.Image and the backend's runtime
"""

NOOP_HANDLER = "lambdalite.function.floors.noop.handler"
IMPORTS_HANDLER = "lambdalite.function.floors.imports.handler"
