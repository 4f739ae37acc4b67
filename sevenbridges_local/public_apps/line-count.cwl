cwlVersion: v1.2
class: CommandLineTool
label: Line count
doc: |-
  Counts the lines of a text file with `wc -l`. The result is a small text file holding the
  number of lines.
$namespaces:
  sbg: https://sevenbridges.com
sbg:toolkit: coreutils
sbg:categories:
  - Utilities
  - Text
baseCommand: [wc, -l]
stdin: $(inputs.input_file.path)
stdout: $(inputs.input_file.basename).lines.txt
inputs:
  input_file:
    type: File
    label: Text file
    doc: Any text file, for example a FASTQ, VCF or CSV file.
outputs:
  line_count:
    type: stdout
    label: Line count
    doc: A text file holding the number of lines.
