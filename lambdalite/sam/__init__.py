"""The SAM layer: every read, write and edit of a ``template.yaml`` goes through here.

    decode      text -> document (YAML or JSON; short-form tags in long form; lines kept)
    intrinsics  Ref / Sub / Join / Select / FindInMap over what is known without AWS
    model       SamTemplate, SamFunction, SamEvent, SamApi: one typed model, parsed once
    parse       document -> SamTemplate (Globals merged, values checked as AWS checks them)
    write       SamFunction(s) -> template text
    edit        text-preserving edits (MemorySize, environment variables)
    lint        cfn-lint, when it is installed
    errors      TemplateError: the template, the line and what to do

Imports nothing from convert, bundle, local or bench: they map ``SamFunction`` to their own
types (``local.specs``, ``bundle.jobs``). Nothing is imported here on purpose, so that
``lambdalite.sam.errors`` stays cheap to import.
"""
