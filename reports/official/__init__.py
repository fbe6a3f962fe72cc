"""Official documents (公文) laid out after GB/T 9704-2012: the 13710 supervision letter (督办函).

``letter`` holds the plain data model and the standard wording; ``letter_docx`` and ``letter_pdf`` render
one ``LetterDoc`` as Word and PDF with the same layout (``layout``).
"""
