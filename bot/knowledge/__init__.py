"""The knowledge base: reviewed passages, their embeddings, a FAISS index and the retriever."""
