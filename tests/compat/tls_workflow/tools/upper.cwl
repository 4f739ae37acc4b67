cwlVersion: v1.2
class: CommandLineTool
label: upper-case
baseCommand: [tr, a-z, A-Z]
stdin: $(inputs.source.path)
inputs:
  source: File
outputs:
  out:
    type: stdout
stdout: shouted.txt
