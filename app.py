"""lmmviz: run with `streamlit run app.py`. The app lives in lmmviz/ui/."""

from lmmviz.ui import main

main()
