-- Departments: the fixed taxonomy every question, topic and doctor is filed
-- under. Slugs are the public identifiers.
CREATE TABLE departments (
    slug text PRIMARY KEY CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 64),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO departments (slug, name) VALUES
    ('family-medicine', 'Family Medicine'),
    ('internal-medicine', 'Internal Medicine'),
    ('neurology', 'Neurology'),
    ('cardiology', 'Cardiology'),
    ('dermatology', 'Dermatology'),
    ('gastroenterology', 'Gastroenterology'),
    ('ophthalmology', 'Ophthalmology'),
    ('otolaryngology', 'Otolaryngology'),
    ('psychiatry', 'Psychiatry'),
    ('orthopedics', 'Orthopedics'),
    ('pediatrics', 'Pediatrics'),
    ('urology', 'Urology'),
    ('obstetrics-gynecology', 'Obstetrics and Gynecology'),
    ('endocrinology', 'Endocrinology');
