#!/usr/bin/env python3
"""The zero-shot prompts restated in Python from LM_EVAL_ZERO_SHOT.md section 9, with Python's own
str semantics (split, strip, slicing in code points, re), hashed as eval/zero_shot_tasks.cpp's
content_sha256 hashes them. Passes when every split's hash is the one pinned in that file, so
the C++ prompts, gold labels and file readers agree with this independent statement on every
document of the twelve splits in shared/data/zero-shot.

usage: zero_shot_reference_hashes.py SHARED_DATA_DIR eval/zero_shot_tasks.cpp
exit 0 pass, 1 mismatch, 77 no data (skipped)
"""
import hashlib
import json
import os
import re
import sys

D = os.path.join(sys.argv[1], "zero-shot") + "/"
if not os.path.isdir(D + "boolq"):
    print("skipped: no " + D)
    sys.exit(77)
def H(docs):
    all=''
    for ctxs, conts, gold in docs:
        n=max(len(ctxs),len(conts))
        for i in range(n):
            all+=(ctxs[0] if len(ctxs)==1 else ctxs[i])+'\x1f'+(conts[0] if len(conts)==1 else conts[i])+'\x1e'
        all+=str(gold)+'\x1d'
    return hashlib.sha256(all.encode('utf-8')).hexdigest()
def mc(ctx, choices, gold): return ([ctx],[' '+c for c in choices],gold)
def jl(p): return [json.loads(l) for l in open(p,encoding='utf-8') if l.strip()]
out={}
rows=json.load(open(D+'arc_easy/test.json'))
out['arc_easy']=H([mc("Question: "+r['question']+"\nAnswer:", r['choices']['text'], r['choices']['label'].index(r['answerKey'])) for r in rows])
rows=jl(D+'arc_challenge/ARC-Challenge-Test.jsonl')
out['arc_challenge']=H([mc("Question: "+r['question']['stem']+"\nAnswer:", [c['text'] for c in r['question']['choices']], [c['label'] for c in r['question']['choices']].index(r['answerKey'])) for r in rows])
rows=jl(D+'openbookqa/test.jsonl')
out['openbookqa']=H([mc(r['question']['stem'], [c['text'] for c in r['question']['choices']], [c['label'] for c in r['question']['choices']].index(r['answerKey'].lstrip())) for r in rows])
rows=jl(D+'piqa/valid.jsonl'); labels=[int(x) for x in open(D+'piqa/valid-labels.lst').read().split()]
out['piqa']=H([mc("Question: "+r['goal']+"\nAnswer:", [r['sol1'],r['sol2']], l) for r,l in zip(rows,labels)])
allp=json.load(open(D+'pubmedqa/ori_pqal.json')); truth=json.load(open(D+'pubmedqa/test_ground_truth.json'))
out['pubmedqa']=H([mc("Abstract: "+"\n".join(allp[k]['CONTEXTS'])+"\nQuestion: "+allp[k]['QUESTION']+"\nAnswer:", ["yes","no","maybe"], ["yes","no","maybe"].index(allp[k]['final_decision'])) for k in truth])
txt=open(D+'logiqa/Test.txt',encoding='utf-8').read()
def norm(t): return t.replace(".", ". ").strip()
docs=[]
for rec in txt.strip().split("\n\n"):
    L=rec.split("\n"); opts=[norm(o[2:]) for o in L[3:]]
    ctx="Passage: "+norm(L[1])+"\nQuestion: "+norm(L[2])+"\nChoices:\n"+"".join(f"{'ABCD'[i]}. {opts[i]}\n" for i in range(4))+"Answer:"
    docs.append(mc(ctx, opts, "abcd".index(L[0].strip())))
out['logiqa']=H(docs)
out['boolq']=H([mc(f"{r['passage']}\nQuestion: {r['question']}?\nAnswer:", ["no","yes"], int(r['label'])) for r in jl(D+'boolq/val.jsonl')])
out['cb']=H([mc(f"{r['premise']}\nQuestion: {r['hypothesis']}. True, False, or Neither?\nAnswer:", ["True","False","Neither"], ["entailment","contradiction","neutral"].index(r['label'])) for r in jl(D+'cb/val.jsonl')])
out['wic']=H([mc(f"Sentence 1: {r['sentence1']}\nSentence 2: {r['sentence2']}\nQuestion: Is the word '{r['sentence1'][r['start1']:r['end1']]}' used in the same way in the two sentences above?\nAnswer:", ["no","yes"], int(r['label'])) for r in jl(D+'wic/val.jsonl')])
out['sglue_rte']=H([mc(f"{r['premise']}\nQuestion: {r['hypothesis']} True or False?\nAnswer:", ["True","False"], ["entailment","not_entailment"].index(r['label'])) for r in jl(D+'rte/val.jsonl')])
def gd(s):
    s=s.replace(" n't","n't").replace(" )",")").replace("( ","(").replace('" ','"').replace(' "','"')
    return re.sub(r" (['.,])", r"\1", s)
docs=[]
for r in jl(D+'wsc/val.jsonl'):
    t=r['target']; row=dict(text=r['text'],**t)
    for k in (1,2):
        sp=row[f'span{k}_text']
        if sp in row['text'] or sp in ("Kamenev and Zinoviev","Kamenev, Zinoviev, and Stalin"): continue
        if "theyscold" in sp: row['span2_index']=10
        w=row['text'].split()[row[f'span{k}_index']]
        sp=(sp[0].lower() if w[0].islower() else sp[0].upper())+sp[1:]
        sp=sp.rstrip('.').replace("\n"," ")
        row[f'span{k}_text']=sp
    pre=" ".join(row['text'].split()[:row['span2_index']])
    post=row['text'][len(pre)+len(row['span2_text'])+1:]
    passage=gd(pre+" *"+row['span2_text']+"*"+post)
    ctx="Passage: "+passage+"\nQuestion: In the passage above, does the pronoun \"*"+row['span2_text']+"*\" refer to \"*"+row['span1_text']+"*\"?\nAnswer:"
    docs.append(mc(ctx,["no","yes"],int(r['label'])))
out['wsc']=H(docs)
docs=[]
for r in jl(D+'lambada_openai/lambada_test.jsonl'):
    p=r['text'].split(" "); docs.append(([" ".join(p[:-1])],[" "+p[-1]],-1))
out['lambada_openai']=H(docs)
pinned = open(sys.argv[2], encoding="utf-8").read()
bad = [k for k, v in out.items() if '"%s"' % v not in pinned]
for k, v in out.items():
    print(k, v, "pinned" if k not in bad else "NOT pinned")
sys.exit(1 if bad else 0)
