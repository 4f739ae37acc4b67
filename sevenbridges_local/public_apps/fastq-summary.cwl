cwlVersion: v1.2
class: Workflow
label: FASTQ summary
doc: |-
  Two steps: FASTQ statistics for the reads, then a plain-text report of those statistics.
$namespaces:
  sbg: https://sevenbridges.com
sbg:toolkit: sbg-local
sbg:categories:
  - FASTQ processing
  - Quality control
inputs:
  reads:
    type: File
    label: Reads
    doc: A FASTQ file, optionally gzip-compressed.
outputs:
  summary:
    type: File
    label: Summary report
    outputSource: report/summary
  stats:
    type: File
    label: Statistics
    outputSource: statistics/stats
  read_count:
    type: long
    label: Reads
    outputSource: statistics/read_count
  base_count:
    type: long
    label: Bases
    outputSource: statistics/base_count
steps:
  statistics:
    # The shipped FASTQ statistics app, embedded when the platform installs this workflow.
    run: fastq-stats.cwl
    in:
      reads: reads
    out: [stats, read_count, base_count]
  report:
    run:
      class: CommandLineTool
      label: Statistics report
      requirements:
        InitialWorkDirRequirement:
          listing:
            - entryname: report.py
              entry: |
                import json
                import sys

                with open(sys.argv[1]) as handle:
                    stats = json.load(handle)
                rows = [
                    ("Sample", stats["sample"]),
                    ("Reads", stats["read_count"]),
                    ("Bases", stats["base_count"]),
                    ("Shortest read", stats["min_length"]),
                    ("Longest read", stats["max_length"]),
                    ("Mean read length", stats["mean_length"]),
                    ("GC content (%)", stats["gc_percent"]),
                ]
                with open(stats["sample"] + ".summary.txt", "w") as out:
                    for label, value in rows:
                        out.write(f"{label:<18}{value}" + chr(10))
      baseCommand: [python3, report.py]
      inputs:
        stats:
          type: File
          inputBinding:
            position: 1
      outputs:
        summary:
          type: File
          outputBinding:
            glob: "*.summary.txt"
    in:
      stats: statistics/stats
    out: [summary]
