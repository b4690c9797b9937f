"""The reporting service's data: LKE rubric versions, each cycle's evaluation (answers, findings,
score), the reports built from them, their artifacts, approval and acknowledged receipt."""
