-- Deterministic seed data: 20 categories and @products products.
-- (MariaDB >= 10.6, MySQL >= 8.0; pure SQL, no stored programs.)
--
-- Usage, into the empty tables that sql/schema.sql created:
--   SET @products = 10000;     -- optional; default 10000, at most 10000000
--   SOURCE sql/seed.sql;       -- or: mariadb catalog < (the SET + this file)
--
-- The same @products always gives byte-identical rows: every value (names,
-- SKUs, prices, stock, categories, even created_at) is a function of the
-- product id only -- CRC32 of the id with a different salt per attribute
-- picks from fixed word lists with ELT().  Product ids are 1..@products.
--
-- Products: "<Adjective> <Material> <Noun>[ <Variant>]", with the materials
-- and nouns belonging to the product's category ("Ergonomic Oak Desk Lamp"
-- in Home Office); 30 x 5 x 10 x 8 = 12000 names per category, so names
-- repeat now and then, as real catalogs' do.  SKU = category prefix + the
-- zero-padded id ("KIT-000123"), hence unique.  Prices are log-uniform within
-- a per-category range, ending in .99, .49 or .00; stock is 0..500 with about
-- one product in twelve out of stock (never one of the first 20).
--
-- Row generation: a recursive CTE yields the digits 0..9 (9 recursion
-- steps, far below the default limits max_recursive_iterations=1000 /
-- cte_max_recursion_depth=1000, so no session setting is needed), and seven
-- copies of it are cross-joined into 0..9999999.  Each digit is bounded by
-- what @products needs, so only about @products combinations are built:
-- 10000 products load in well under a second, 100000 in a few seconds.

SET @seed_n = COALESCE(@products, 10000);

-- Bulk load: the generated rows are consistent by construction (ids and SKUs
-- unique, category ids 1..20 inserted first), so skip the per-row unique and
-- foreign key checks.  On MariaDB >= 10.6 this also turns the inserts into an
-- empty table into a bulk load that builds the indexes by sorting (about
-- 1.6x faster).  A duplicate id still fails on the primary key.  The
-- session's settings are restored at the end.
SET @seed_unique_checks = @@SESSION.unique_checks,
    @seed_foreign_key_checks = @@SESSION.foreign_key_checks;
SET SESSION unique_checks = 0, foreign_key_checks = 0;

START TRANSACTION;

-- ---------------------------------------------------------------------------
-- Categories: id, slug, name.  The SKU prefix, word lists and price range of
-- each category are indexed by this id below (the ELT lists keep its order).
-- ---------------------------------------------------------------------------
INSERT INTO categories (id, slug, name, created_at) VALUES
  ( 1, 'kitchen-dining',         'Kitchen & Dining',         '2023-01-01 00:00:00'),
  ( 2, 'garden-tools',           'Garden Tools',             '2023-01-01 00:00:00'),
  ( 3, 'home-office',            'Home Office',              '2023-01-01 00:00:00'),
  ( 4, 'electronics',            'Electronics',              '2023-01-01 00:00:00'),
  ( 5, 'outdoor-camping',        'Outdoor & Camping',        '2023-01-01 00:00:00'),
  ( 6, 'sports-fitness',         'Sports & Fitness',         '2023-01-01 00:00:00'),
  ( 7, 'toys-games',             'Toys & Games',             '2023-01-01 00:00:00'),
  ( 8, 'books-stationery',       'Books & Stationery',       '2023-01-01 00:00:00'),
  ( 9, 'bath-body',              'Bath & Body',              '2023-01-01 00:00:00'),
  (10, 'bedding',                'Bedding',                  '2023-01-01 00:00:00'),
  (11, 'furniture',              'Furniture',                '2023-01-01 00:00:00'),
  (12, 'lighting',               'Lighting',                 '2023-01-01 00:00:00'),
  (13, 'pet-supplies',           'Pet Supplies',             '2023-01-01 00:00:00'),
  (14, 'baby-kids',              'Baby & Kids',              '2023-01-01 00:00:00'),
  (15, 'automotive',             'Automotive',               '2023-01-01 00:00:00'),
  (16, 'tools-hardware',         'Tools & Hardware',         '2023-01-01 00:00:00'),
  (17, 'arts-crafts',            'Arts & Crafts',            '2023-01-01 00:00:00'),
  (18, 'storage-organization',   'Storage & Organization',   '2023-01-01 00:00:00'),
  (19, 'health-personal-care',   'Health & Personal Care',   '2023-01-01 00:00:00'),
  (20, 'home-decor',             'Home Decor',               '2023-01-01 00:00:00');

-- ---------------------------------------------------------------------------
-- Products.
-- ---------------------------------------------------------------------------
INSERT INTO products
  (id, sku, name, category_id, price_cents, stock, created_at, updated_at)
WITH RECURSIVE digits (d) AS (
  SELECT 0
  UNION ALL
  SELECT d + 1 FROM digits WHERE d < 9
),
seq (id) AS (
  SELECT 1 + d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d
           + 10000 * d4.d + 100000 * d5.d + 1000000 * d6.d
  FROM digits d0
  CROSS JOIN digits d1
  CROSS JOIN digits d2
  CROSS JOIN digits d3
  CROSS JOIN digits d4
  CROSS JOIN digits d5
  CROSS JOIN digits d6
  -- prune each digit to what @seed_n can reach (ids are 1..@seed_n)
  WHERE d1.d <= LEAST(9, FLOOR((@seed_n - 1) / 10))
    AND d2.d <= LEAST(9, FLOOR((@seed_n - 1) / 100))
    AND d3.d <= LEAST(9, FLOOR((@seed_n - 1) / 1000))
    AND d4.d <= LEAST(9, FLOOR((@seed_n - 1) / 10000))
    AND d5.d <= LEAST(9, FLOOR((@seed_n - 1) / 100000))
    AND d6.d <= LEAST(9, FLOOR((@seed_n - 1) / 1000000))
    AND d0.d + 10 * d1.d + 100 * d2.d + 1000 * d3.d
      + 10000 * d4.d + 100000 * d5.d + 1000000 * d6.d < @seed_n
),
-- independent pseudo-random numbers per attribute, from the id alone
h (id, cat, h_adj, h_mat, h_noun, h_var, h_price, h_cents, h_stock) AS (
  SELECT id,
         1 + CRC32(CONCAT('category:', id)) % 20,
         CRC32(CONCAT('adjective:', id)),
         CRC32(CONCAT('material:', id)),
         CRC32(CONCAT('noun:', id)),
         CRC32(CONCAT('variant:', id)),
         CRC32(CONCAT('price:', id)),
         CRC32(CONCAT('cents:', id)),
         CRC32(CONCAT('stock:', id))
  FROM seq
),
p (id, cat, name, dollars, ending, stock) AS (
  SELECT id, cat,
    CONCAT_WS(' ',
      ELT(1 + h_adj % 30,
        'Ergonomic', 'Classic', 'Modern', 'Compact', 'Deluxe', 'Essential',
        'Vintage', 'Premium', 'Rustic', 'Sleek', 'Handcrafted', 'Lightweight',
        'Heavy-Duty', 'Minimalist', 'Portable', 'Foldable', 'Eco-Friendly',
        'Nordic', 'Artisan', 'Everyday', 'Professional', 'Cozy', 'Elegant',
        'Durable', 'Smart', 'Slim', 'Industrial', 'Soft-Touch', 'Signature',
        'Urban'),
      -- 5 materials per category, in category order
      ELT((cat - 1) * 5 + 1 + h_mat % 5,
        'Stainless Steel', 'Bamboo', 'Cast Iron', 'Ceramic', 'Walnut',
        'Steel', 'Aluminum', 'Ash Wood', 'Recycled Plastic', 'Galvanized',
        'Oak', 'Aluminum', 'Walnut', 'Steel', 'Mesh',
        'Aluminum', 'Matte Black', 'Graphite', 'Silver', 'White',
        'Ripstop Nylon', 'Titanium', 'Aluminum', 'Canvas', 'Insulated Steel',
        'Rubber', 'Neoprene', 'Cast Iron', 'Cork', 'Polyester',
        'Wooden', 'Cardboard', 'Cotton', 'Recycled Plastic', 'Felt',
        'Leather', 'Recycled Paper', 'Linen', 'Brass', 'Kraft Paper',
        'Cotton', 'Bamboo', 'Ceramic', 'Teak', 'Linen',
        'Cotton', 'Linen', 'Flannel', 'Silk', 'Wool',
        'Oak', 'Pine', 'Walnut', 'Rattan', 'Steel',
        'Brass', 'Glass', 'Rattan', 'Linen', 'Copper',
        'Nylon', 'Stainless Steel', 'Sisal', 'Fleece', 'Leather',
        'Organic Cotton', 'Silicone', 'Beech', 'Muslin', 'Bamboo',
        'Rubber', 'Microfiber', 'Carbon Fiber', 'Leather', 'Nylon',
        'Chrome Vanadium', 'Steel', 'Fiberglass', 'Aluminum', 'Titanium',
        'Birch', 'Cotton', 'Acrylic', 'Bamboo', 'Wool',
        'Seagrass', 'Acrylic', 'Canvas', 'Steel', 'Bamboo',
        'Ceramic', 'Stainless Steel', 'Silicone', 'Matte White', 'Rose Gold',
        'Ceramic', 'Brass', 'Jute', 'Marble', 'Velvet'),
      -- 10 nouns per category, in category order
      ELT((cat - 1) * 10 + 1 + h_noun % 10,
        -- 1 Kitchen & Dining
        'Chef''s Knife', 'Cutting Board', 'Saucepan', 'Frying Pan', 'Mixing Bowl',
        'Serving Tray', 'Salad Spinner', 'Coffee Grinder', 'Spice Rack', 'Dinner Plate Set',
        -- 2 Garden Tools
        'Hand Trowel', 'Pruning Shears', 'Garden Rake', 'Watering Can', 'Hedge Trimmer',
        'Spade', 'Hose Reel', 'Leaf Blower', 'Planter Box', 'Wheelbarrow',
        -- 3 Home Office
        'Desk Lamp', 'Monitor Stand', 'Desk Organizer', 'Office Chair', 'Standing Desk',
        'Bookshelf', 'Filing Cabinet', 'Whiteboard', 'Laptop Stand', 'Pen Holder',
        -- 4 Electronics
        'Bluetooth Speaker', 'Wireless Headphones', 'USB-C Hub', 'Power Bank', 'Smart Plug',
        'Webcam', 'Mechanical Keyboard', 'Wireless Mouse', 'Charging Dock', 'Portable Monitor',
        -- 5 Outdoor & Camping
        'Tent', 'Sleeping Bag', 'Camping Stove', 'Headlamp', 'Trekking Poles',
        'Cooler', 'Hammock', 'Water Bottle', 'Camp Chair', 'Lantern',
        -- 6 Sports & Fitness
        'Yoga Mat', 'Dumbbell Set', 'Kettlebell', 'Jump Rope', 'Resistance Band Set',
        'Foam Roller', 'Gym Bag', 'Pull-Up Bar', 'Exercise Ball', 'Running Belt',
        -- 7 Toys & Games
        'Puzzle', 'Building Blocks', 'Board Game', 'Plush Bear', 'Train Set',
        'Kite', 'Marble Run', 'Dollhouse', 'Card Game', 'Stacking Tower',
        -- 8 Books & Stationery
        'Notebook', 'Planner', 'Fountain Pen', 'Sketchbook', 'Journal',
        'Pencil Set', 'Desk Calendar', 'Bookmark Set', 'Letter Set', 'Art Marker Set',
        -- 9 Bath & Body
        'Bath Towel', 'Soap Dish', 'Shower Caddy', 'Bath Mat', 'Toothbrush Holder',
        'Body Brush', 'Bathrobe', 'Hand Towel Set', 'Bath Tray', 'Soap Dispenser',
        -- 10 Bedding
        'Duvet Cover', 'Pillowcase Set', 'Fitted Sheet', 'Throw Blanket', 'Quilt',
        'Mattress Topper', 'Pillow', 'Bedspread', 'Sheet Set', 'Weighted Blanket',
        -- 11 Furniture
        'Coffee Table', 'Side Table', 'Bookcase', 'Dining Chair', 'Bar Stool',
        'TV Stand', 'Shoe Rack', 'Nightstand', 'Bench', 'Console Table',
        -- 12 Lighting
        'Floor Lamp', 'Pendant Light', 'Table Lamp', 'Wall Sconce', 'String Lights',
        'Night Light', 'Ceiling Light', 'Reading Lamp', 'Lantern', 'LED Strip',
        -- 13 Pet Supplies
        'Dog Bed', 'Cat Tree', 'Food Bowl', 'Leash', 'Collar',
        'Litter Box', 'Pet Carrier', 'Chew Toy', 'Scratching Post', 'Grooming Brush',
        -- 14 Baby & Kids
        'Baby Blanket', 'High Chair', 'Bib Set', 'Changing Pad', 'Sippy Cup',
        'Night Light', 'Toy Chest', 'Step Stool', 'Crib Sheet', 'Play Mat',
        -- 15 Automotive
        'Phone Mount', 'Floor Mat Set', 'Seat Cushion', 'Tire Inflator', 'Jump Starter',
        'Trunk Organizer', 'Sunshade', 'Dash Cam', 'Ice Scraper', 'Cleaning Kit',
        -- 16 Tools & Hardware
        'Screwdriver Set', 'Hammer', 'Tape Measure', 'Cordless Drill', 'Socket Wrench Set',
        'Utility Knife', 'Spirit Level', 'Tool Box', 'Clamp Set', 'Work Light',
        -- 17 Arts & Crafts
        'Paint Brush Set', 'Easel', 'Watercolor Set', 'Canvas Pad', 'Sewing Kit',
        'Knitting Needles', 'Clay Set', 'Craft Scissors', 'Yarn Bundle', 'Embroidery Hoop',
        -- 18 Storage & Organization
        'Storage Bin', 'Drawer Organizer', 'Closet Shelf', 'Laundry Basket', 'Under-Bed Box',
        'Hanging Organizer', 'Spice Jar Set', 'Wall Hook Rack', 'Cable Box', 'Shelf Divider',
        -- 19 Health & Personal Care
        'Electric Toothbrush', 'Hair Dryer', 'Massage Gun', 'Digital Scale', 'Pill Organizer',
        'Heating Pad', 'Hair Straightener', 'Beard Trimmer', 'Makeup Mirror', 'Humidifier',
        -- 20 Home Decor
        'Vase', 'Picture Frame', 'Wall Mirror', 'Throw Pillow', 'Candle Holder',
        'Wall Clock', 'Area Rug', 'Planter', 'Sculpture', 'Table Runner'),
      -- most products have no variant
      NULLIF(ELT(1 + h_var % 8, '', '', '', 'Pro', 'Mini', 'XL', 'Plus', 'Lite'), '')
    ),
    -- whole-dollar price, log-uniform in the category's [low, high] range
    GREATEST(1, FLOOR(
      ELT(cat, 8, 6, 10, 15, 10, 8, 5, 3, 5, 15, 40, 10, 4, 6, 8, 6, 4, 5, 10, 6)
      * POW(
          ELT(cat, 250, 400, 900, 600, 500, 350, 150, 120, 120, 400,
                   1500, 450, 250, 300, 250, 400, 180, 150, 300, 500)
          / ELT(cat, 8, 6, 10, 15, 10, 8, 5, 3, 5, 15, 40, 10, 4, 6, 8, 6, 4, 5, 10, 6),
          (h_price % 100003) / 100002.0))),
    -- price ending: .99 (3 in 5), .49, .00
    ELT(1 + h_cents % 5, 99, 99, 99, 49, 0),
    -- stock: about 1 in 12 out of stock, else 1..500; the first 20
    -- products are always in stock, so examples and smoke tests can order
    -- them
    CASE WHEN h_stock % 12 = 0 AND id > 20 THEN 0
         ELSE 1 + (h_stock DIV 12) % 500 END
  FROM h
)
SELECT id,
       CONCAT(ELT(cat, 'KIT', 'GAR', 'OFF', 'ELE', 'OUT', 'SPO', 'TOY', 'STA',
                       'BAT', 'BED', 'FUR', 'LIG', 'PET', 'BAB', 'AUT', 'TOO',
                       'ART', 'STO', 'HEA', 'DEC'),
              '-', LPAD(id, GREATEST(6, LENGTH(id)), '0')),
       name,
       cat,
       CASE WHEN ending = 0 THEN dollars * 100 ELSE dollars * 100 - 100 + ending END,
       stock,
       '2023-01-01 00:00:00' + INTERVAL id * 4 MINUTE,
       '2023-01-01 00:00:00' + INTERVAL id * 4 MINUTE
FROM p
ORDER BY id;

COMMIT;

SET SESSION unique_checks = @seed_unique_checks,
    foreign_key_checks = @seed_foreign_key_checks;
