cwlVersion: v1.2
class: Workflow
label: Shout a message
doc: Echo a message, then upper-case it.
inputs:
  message: string
outputs:
  result:
    type: File
    outputSource: shout/out
steps:
  echo:
    run: tools/echo.cwl
    in:
      message: message
    out: [out]
  shout:
    run: tools/upper.cwl
    in:
      source: echo/out
    out: [out]
