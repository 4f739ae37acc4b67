cwlVersion: v1.2
class: CommandLineTool
label: echo
baseCommand: echo
inputs:
  message:
    type: string
    inputBinding:
      position: 1
outputs:
  out:
    type: stdout
stdout: message.txt
