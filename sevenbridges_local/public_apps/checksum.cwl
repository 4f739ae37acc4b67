cwlVersion: v1.2
class: CommandLineTool
label: Checksum
doc: |-
  Computes the checksum of a file with the coreutils `md5sum`, `sha1sum`, `sha256sum` or
  `sha512sum` command. The result is a text file holding the hexadecimal digest only.
$namespaces:
  sbg: https://sevenbridges.com
sbg:toolkit: coreutils
sbg:categories:
  - Utilities
  - Data integrity
requirements:
  ShellCommandRequirement: {}
inputs:
  input_file:
    type: File
    label: File
    doc: The file to checksum.
  algorithm:
    type:
      type: enum
      symbols: [md5, sha1, sha256, sha512]
    default: sha256
    label: Algorithm
    doc: Hash function to use.
arguments:
  # The algorithm is one of the enum's symbols, so it is safe to place unquoted in the command.
  - valueFrom: $(inputs.algorithm)sum
    shellQuote: false
    position: 1
  - valueFrom: <
    shellQuote: false
    position: 2
  - valueFrom: $(inputs.input_file.path)
    position: 3
  - valueFrom: "| cut -d ' ' -f 1"
    shellQuote: false
    position: 4
stdout: $(inputs.input_file.basename).$(inputs.algorithm)
outputs:
  checksum:
    type: stdout
    label: Checksum
    doc: A text file holding the hexadecimal digest.
