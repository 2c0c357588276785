"""The code profile's educational-value classifier (Phi-1's question: does this file teach
a student basic coding concepts?). MiniLM embeddings + AST/lexical code features -> head,
cross-validated with folds grouped by repository."""
