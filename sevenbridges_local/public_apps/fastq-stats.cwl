cwlVersion: v1.2
class: CommandLineTool
label: FASTQ statistics
doc: |-
  Counts the reads and bases of a FASTQ file (plain or gzip-compressed) and reports read
  lengths and GC content. Besides the numbers it writes them to a JSON file named after the
  sample. Malformed records make the tool fail with a message naming the record.
$namespaces:
  sbg: https://sevenbridges.com
sbg:toolkit: sbg-local
sbg:categories:
  - FASTQ processing
  - Quality control
requirements:
  InitialWorkDirRequirement:
    listing:
      - entryname: fastq_stats.py
        entry: |
          import gzip
          import json
          import os
          import sys

          GZIP_MAGIC = bytes((0x1F, 0x8B))


          def open_reads(path):
              with open(path, "rb") as probe:
                  compressed = probe.read(2) == GZIP_MAGIC
              return gzip.open(path, "rt") if compressed else open(path, "rt")


          def sample_name(path):
              name = os.path.basename(path)
              for suffix in (".gz", ".fastq", ".fq"):
                  if name.endswith(suffix):
                      name = name[: -len(suffix)]
              return name or "sample"


          def main(path):
              reads = bases = gc = 0
              shortest = longest = 0
              with open_reads(path) as handle:
                  while True:
                      header = handle.readline()
                      if not header:
                          break
                      if not header.strip():
                          continue
                      sequence = handle.readline().strip()
                      separator = handle.readline()
                      quality = handle.readline().strip()
                      record = reads + 1
                      if not header.startswith("@") or not separator.startswith("+"):
                          sys.exit(f"{path}: record {record} is not a FASTQ record")
                      if len(quality) != len(sequence):
                          sys.exit(f"{path}: record {record} has {len(sequence)} bases "
                                   f"but {len(quality)} quality values")
                      length = len(sequence)
                      reads += 1
                      bases += length
                      gc += sum(1 for base in sequence.upper() if base in "GC")
                      shortest = length if reads == 1 else min(shortest, length)
                      longest = max(longest, length)
              sample = sample_name(path)
              stats = {
                  "sample": sample,
                  "read_count": reads,
                  "base_count": bases,
                  "min_length": shortest,
                  "max_length": longest,
                  "mean_length": round(bases / reads, 2) if reads else 0.0,
                  "gc_percent": round(100.0 * gc / bases, 2) if bases else 0.0,
              }
              stats_name = sample + ".stats.json"
              with open(stats_name, "w") as out:
                  json.dump(stats, out, indent=2)
              outputs = {key: stats[key] for key in
                         ("read_count", "base_count", "mean_length", "gc_percent")}
              outputs["stats"] = {"class": "File", "location": stats_name}
              with open("cwl.output.json", "w") as out:
                  json.dump(outputs, out)


          main(sys.argv[1])
baseCommand: [python3, fastq_stats.py]
inputs:
  reads:
    type: File
    label: Reads
    doc: A FASTQ file, optionally gzip-compressed.
    inputBinding:
      position: 1
outputs:
  stats:
    type: File
    label: Statistics
    doc: JSON file with the sample name, read and base counts, read lengths and GC content.
  read_count:
    type: long
    label: Reads
  base_count:
    type: long
    label: Bases
  mean_length:
    type: float
    label: Mean read length
  gc_percent:
    type: float
    label: GC content (%)
